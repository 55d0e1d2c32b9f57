// Account rules shared by the settings (ADMIN_BOOTSTRAP_*), the create-admin CLI and the login
// form. Usernames follow Django's (letters, digits and @.+-_) and are compared case-insensitively.
export const ADMIN_USERNAME_PATTERN = '^[A-Za-z0-9@.+_-]{1,150}$'
export const ADMIN_PASSWORD_MIN_LENGTH = 12
/** scrypt's cost does not grow with the input, but nobody needs more, and bodies stay small. */
export const ADMIN_PASSWORD_MAX_LENGTH = 1024

const USERNAME = new RegExp(ADMIN_USERNAME_PATTERN)

export function normalizeUsername (raw: string): string | undefined {
  const trimmed = raw.trim()
  return USERNAME.test(trimmed) ? trimmed.toLowerCase() : undefined
}

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordProblem (password: string): string | undefined {
  if (password.length < ADMIN_PASSWORD_MIN_LENGTH) return `The password must be at least ${ADMIN_PASSWORD_MIN_LENGTH} characters long.`
  if (password.length > ADMIN_PASSWORD_MAX_LENGTH) return `The password must be at most ${ADMIN_PASSWORD_MAX_LENGTH} characters long.`
  if (password.trim() === '') return 'The password must not be blank.'
  return undefined
}

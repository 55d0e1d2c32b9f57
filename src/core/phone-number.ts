// One rule for every endpoint: separators (spaces, dashes, dots, parentheses) are dropped, an
// optional leading "+" is accepted, and what remains must be 1 to 15 digits (the original
// model's max_length=15, and E.164's limit). The canonical form is the digits alone, so
// "+1 (234) 567-890" and "1234567890" name the same folder and the same records.
const SEPARATORS = /[\s\-.()]/g
const CANONICAL = /^\+?(\d{1,15})$/

export const PHONE_NUMBER_RULE =
  'a phone number is 1 to 15 digits, optionally starting with "+"; spaces, dashes, dots and parentheses are ignored'

export type PhoneNumberCheck =
  | { ok: true, phoneNumber: string }
  | { ok: false, message: string }

export function normalizePhoneNumber (raw: string): PhoneNumberCheck {
  const match = CANONICAL.exec(raw.replace(SEPARATORS, ''))
  if (match) return { ok: true, phoneNumber: match[1]! }
  return { ok: false, message: `Invalid phone number: ${PHONE_NUMBER_RULE}.` }
}

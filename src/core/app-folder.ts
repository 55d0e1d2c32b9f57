// Where the service keeps images in storage: /<phone number>/<file name>, the folder named by the
// number's canonical digits (phone-number.ts). The Dropbox sync uses these rules to decide which
// files found in Dropbox are the app's images; everything else there is left alone.
import { imageTypeOfName, type ImageType } from './image-type.ts'
import { normalizePhoneNumber } from './phone-number.ts'

export interface AppImage {
  phoneNumber: string
  fileName: string
  type: ImageType
}

/** A folder name that is a phone number in canonical form ("1234567890", not "+1 234..."). */
export function isPhoneFolder (name: string): boolean {
  const phone = normalizePhoneNumber(name)
  return phone.ok && phone.phoneNumber === name
}

/**
 * The image at `path` when it is one of the app's: directly inside a phone-number folder at the
 * root, with an image's extension. Undefined for anything else (other folders, deeper files,
 * other files).
 */
export function appImageAt (path: string): AppImage | undefined {
  const parts = path.split('/')
  if (parts.length !== 3 || parts[0] !== '') return undefined
  const [, folder = '', fileName = ''] = parts
  if (!isPhoneFolder(folder)) return undefined
  const type = imageTypeOfName(fileName)
  return type ? { phoneNumber: folder, fileName, type } : undefined
}

/** The phone number whose folder `path` is or lies in ("/123" or "/123/a.jpg" -> "123"). */
export function phoneFolderOf (path: string): string | undefined {
  const folder = path.split('/')[1]
  return folder !== undefined && path.startsWith('/') && isPhoneFolder(folder) ? folder : undefined
}

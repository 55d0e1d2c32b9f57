import { Type, type Static } from 'typebox'
import type { ImageRecord } from '../../models/image.ts'
import { normalizePhoneNumber } from '../../core/phone-number.ts'
import { fromDateTimeLocal } from './time-zone.ts'

// The four fields of the original model are editable; the storage fields describe where the
// bytes are and stay as the worker wrote them.
export const EditForm = Type.Object({
  _csrf: Type.Optional(Type.String()),
  phone_number: Type.String({ maxLength: 100 }),
  file_name: Type.String({ maxLength: 1000 }),
  image_url: Type.String({ maxLength: 4096 }),
  uploaded_at: Type.String({ maxLength: 100 })
})
export type EditFormBody = Static<typeof EditForm>

export type EditableFields = Pick<ImageRecord, 'phone_number' | 'file_name' | 'image_url' | 'uploaded_at'>

export type EditCheck =
  | { ok: true, fields: EditableFields }
  | { ok: false, errors: Partial<Record<keyof EditableFields, string>> }

const CONTROL = /[\u0000-\u001f\u007f]/ // eslint-disable-line no-control-regex

export function checkEdit (form: EditFormBody, timeZone: string): EditCheck {
  const errors: Partial<Record<keyof EditableFields, string>> = {}
  const phone = normalizePhoneNumber(form.phone_number)
  if (!phone.ok) errors.phone_number = phone.message

  const fileName = form.file_name.trim()
  if (fileName === '' || fileName.length > 255) errors.file_name = 'A file name is 1 to 255 characters.'
  else if (CONTROL.test(fileName) || fileName.includes('/')) errors.file_name = 'A file name cannot contain "/" or control characters.'

  const imageUrl = form.image_url.trim()
  let url: URL | undefined
  try {
    url = new URL(imageUrl)
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || imageUrl.length > 2048) {
    errors.image_url = 'The image URL must be an http:// or https:// URL.'
  }

  const uploadedAt = fromDateTimeLocal(form.uploaded_at, timeZone)
  if (!uploadedAt) errors.uploaded_at = 'The upload time must be a date and time (YYYY-MM-DD HH:MM:SS).'

  if (!phone.ok || Object.keys(errors).length > 0 || !uploadedAt) return { ok: false, errors }
  return { ok: true, fields: { phone_number: phone.phoneNumber, file_name: fileName, image_url: imageUrl, uploaded_at: uploadedAt } }
}

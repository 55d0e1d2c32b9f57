import { Type } from 'typebox'
import { component, errorResponse, jsonResponse, ref, unavailableResponse } from './common.ts'
import { PHONE_NUMBER_RULE } from '../../core/phone-number.ts'

export const GetPhoneQuery = Type.Object({
  phone_number: Type.Optional(Type.String({ description: PHONE_NUMBER_RULE }))
})

export const PhoneImages = component('PhoneImages', Type.Object({
  phone_number: Type.String({ description: 'The phone number, canonical (digits only).' }),
  image_urls: Type.Record(Type.String(), Type.String(), { description: 'Stored file name to raw image URL, newest first.' })
}, { description: 'Every image recorded for a phone number.' }))

export const getPhoneResponses = {
  200: jsonResponse('Every image recorded for the phone number.', ref(PhoneImages), {
    phone_number: '1234567890',
    image_urls: {
      '2024-12-17_12:31:00_image2.jpg': 'https://www.dropbox.com/scl/fi/hijklmn/2024-12-17_12%3A31%3A00_image2.jpg?rlkey=k2&st=t2&raw=1',
      '2024-12-17_12:30:45_image1.jpg': 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k1&st=t1&raw=1'
    }
  }),
  400: errorResponse(`phone_number is missing or invalid (${PHONE_NUMBER_RULE}).`, 'Phone number is required.'),
  404: errorResponse('No image is recorded for this phone number.', 'No images found for the provided phone number.'),
  503: unavailableResponse('The database is unreachable. Retry after `Retry-After` seconds.')
}

import { Type } from 'typebox'
import { errorResponse } from './common.ts'
import { PHONE_NUMBER_RULE } from '../../core/phone-number.ts'

export const GetPhoneQuery = Type.Object({
  phone_number: Type.Optional(Type.String({ description: PHONE_NUMBER_RULE }))
})

export const GetPhoneSuccess = Type.Object({
  phone_number: Type.String(),
  image_urls: Type.Record(Type.String(), Type.String(), { description: 'File name to raw image URL, newest first.' })
}, {
  examples: [{
    phone_number: '1234567890',
    image_urls: {
      'image1.jpg': 'https://www.dropbox.com/s/abcdefg/image1.jpg?raw=1',
      'image2.jpg': 'https://www.dropbox.com/s/hijklmn/image2.jpg?raw=1'
    }
  }]
})

export const getPhoneResponses = {
  200: GetPhoneSuccess,
  400: errorResponse(`phone_number is missing or invalid (${PHONE_NUMBER_RULE}).`, 'Phone number is required.'),
  404: errorResponse('No image is recorded for this phone number.', 'No images found for the provided phone number.'),
  503: errorResponse('The database is unreachable. Retry after a few seconds.', 'The service is temporarily unavailable. Please retry shortly.')
}

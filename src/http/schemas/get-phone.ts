import { Type } from 'typebox'
import { component, errorResponse, jsonResponse, ref, unavailableResponse } from './common.ts'
import { exampleUrls, ImageUrls } from './images.ts'
import { PHONE_NUMBER_RULE } from '../../core/phone-number.ts'

export const GetPhoneQuery = Type.Object({
  phone_number: Type.Optional(Type.String({ description: PHONE_NUMBER_RULE }))
})

export const PhoneImage = component('PhoneImage', Type.Object({
  upload_id: Type.String({ description: 'The image\'s upload_id (GET /api/uploads/{upload_id}).' }),
  file_name: Type.String({ description: 'Stored file name.' }),
  image_url: Type.String({ description: 'Raw image URL, as in `image_urls`.' }),
  uploaded_at: Type.String({ format: 'date-time', description: 'When the image was received (UTC).' }),
  urls: ref(ImageUrls)
}, {
  description: 'One recorded image.',
  examples: [{
    upload_id: '6761a2f5c3b1e24d8f0a9b7c',
    file_name: '2024-12-17_12:30:45_image1.jpg',
    image_url: 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k1&st=t1&raw=1',
    uploaded_at: '2024-12-17T12:30:45.000Z',
    urls: exampleUrls('6761a2f5c3b1e24d8f0a9b7c')
  }]
}))

export const PhoneImages = component('PhoneImages', Type.Object({
  phone_number: Type.String({ description: 'The phone number, canonical (digits only).' }),
  image_urls: Type.Record(Type.String(), Type.String(), { description: 'Stored file name to raw image URL, newest first.' }),
  images: Type.Array(ref(PhoneImage), { description: 'Every image with its id, time and stable URLs, newest first (one entry per record, even where two share a file name).' })
}, { description: 'Every image recorded for a phone number.' }))

export const getPhoneResponses = {
  200: jsonResponse('Every image recorded for the phone number.', ref(PhoneImages), {
    phone_number: '1234567890',
    image_urls: {
      '2024-12-17_12:31:00_image2.jpg': 'https://www.dropbox.com/scl/fi/hijklmn/2024-12-17_12%3A31%3A00_image2.jpg?rlkey=k2&st=t2&raw=1',
      '2024-12-17_12:30:45_image1.jpg': 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k1&st=t1&raw=1'
    },
    images: [
      {
        upload_id: '6761a2f5c3b1e24d8f0a9b7d',
        file_name: '2024-12-17_12:31:00_image2.jpg',
        image_url: 'https://www.dropbox.com/scl/fi/hijklmn/2024-12-17_12%3A31%3A00_image2.jpg?rlkey=k2&st=t2&raw=1',
        uploaded_at: '2024-12-17T12:31:00.000Z',
        urls: exampleUrls('6761a2f5c3b1e24d8f0a9b7d')
      },
      {
        upload_id: '6761a2f5c3b1e24d8f0a9b7c',
        file_name: '2024-12-17_12:30:45_image1.jpg',
        image_url: 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k1&st=t1&raw=1',
        uploaded_at: '2024-12-17T12:30:45.000Z',
        urls: exampleUrls('6761a2f5c3b1e24d8f0a9b7c')
      }
    ]
  }),
  400: errorResponse(`phone_number is missing or invalid (${PHONE_NUMBER_RULE}).`, 'Phone number is required.'),
  404: errorResponse('No image is recorded for this phone number.', 'No images found for the provided phone number.'),
  503: unavailableResponse('The database is unreachable. Retry after `Retry-After` seconds.')
}

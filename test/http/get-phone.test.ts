import t from 'tap'
import { build } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'

t.test('GET /api/get-phone/ answers as the contract shows', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const record = (phone: string, name: string, at: string) => ({
    phone_number: phone,
    file_name: name,
    image_url: `https://www.dropbox.com/s/x/${name}?raw=1`,
    uploaded_at: new Date(at),
    storage: 'dropbox',
    storage_path: `/${phone}/${name}`,
    size: 1,
    content_type: 'image/jpeg',
    content_hash: 'h'
  })
  const [first, second] = await app.db.images.insertMany([
    record('1234567890', 'image1.jpg', '2024-12-17T12:30:45Z'),
    record('1234567890', 'image2.jpg', '2024-12-17T12:31:00Z'),
    record('999', 'other.jpg', '2024-12-17T12:31:00Z')
  ])
  // The additive `images`: each record with its id, time and stable URLs on PUBLIC_BASE_URL.
  const entry = (id: string, name: string, at: string) => ({
    upload_id: id,
    file_name: name,
    image_url: `https://www.dropbox.com/s/x/${name}?raw=1`,
    uploaded_at: at,
    urls: { original: `http://localhost:3000/i/${id}`, display: `http://localhost:3000/i/${id}/display`, thumbnail: `http://localhost:3000/i/${id}/thumbnail` }
  })

  for (const url of ['/api/get-phone/?phone_number=1234567890', '/api/get-phone?phone_number=1234567890', '/api/get-phone/?phone_number=%2B1%20(234)%20567-890']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.same(res.json(), {
      phone_number: '1234567890',
      image_urls: {
        'image2.jpg': 'https://www.dropbox.com/s/x/image2.jpg?raw=1',
        'image1.jpg': 'https://www.dropbox.com/s/x/image1.jpg?raw=1'
      },
      images: [
        entry(second!._id.toHexString(), 'image2.jpg', '2024-12-17T12:31:00.000Z'),
        entry(first!._id.toHexString(), 'image1.jpg', '2024-12-17T12:30:45.000Z')
      ]
    }, url)
    t.same(Object.keys(res.json()), ['phone_number', 'image_urls', 'images'], 'the contract\'s fields first, as they were')
  }

  const missing = await app.inject({ method: 'GET', url: '/api/get-phone/' })
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), { message: 'Phone number is required.' })

  const empty = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=' })
  t.equal(empty.statusCode, 400)
  t.same(empty.json(), { message: 'Phone number is required.' })

  const none = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=5550000' })
  t.equal(none.statusCode, 404)
  t.same(none.json(), { message: 'No images found for the provided phone number.' })

  const invalid = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=abc' })
  t.equal(invalid.statusCode, 400)
  t.match(invalid.json().message, /^Invalid phone number/)

  // Injection attempts are plain text that fails the phone number rule, never a query operator.
  for (const url of ['/api/get-phone/?phone_number[$ne]=1', '/api/get-phone/?phone_number=1&phone_number=2', '/api/get-phone/?phone_number={"$gt":""}']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 400, url)
    t.type(res.json().message, 'string')
  }
})

import t from 'tap'
import { normalizePhoneNumber } from '../../src/core/phone-number.ts'

t.test('separators are dropped, a leading + accepted, 1 to 15 digits kept', async t => {
  const valid: Array<[string, string]> = [
    ['1234567890', '1234567890'],
    ['+1 (234) 567-890', '1234567890'],
    ['+44 20.7946.0958', '442079460958'],
    ['5', '5'],
    ['123456789012345', '123456789012345'],
    [' 12 34 ', '1234']
  ]
  for (const [raw, canonical] of valid) t.same(normalizePhoneNumber(raw), { ok: true, phoneNumber: canonical }, raw)
})

t.test('anything else is refused with the rule in the message', async t => {
  for (const raw of ['', '+', 'abc', '12a34', '1234567890123456', '++123', '12+34', '123/456', '1_2', '１２３', '{"$ne":1}']) {
    const check = normalizePhoneNumber(raw)
    t.equal(check.ok, false, JSON.stringify(raw))
    t.match(!check.ok && check.message, /1 to 15 digits/)
  }
})

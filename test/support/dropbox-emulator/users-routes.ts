import { apiRoute, type ApiCall } from './api-call.ts'
import { BadArgument } from './arg-schema.ts'

// users/get_current_account: what the service's readiness check calls (a cheap call that proves
// the credentials are accepted). Takes no argument: the SDK sends an empty body.
async function getCurrentAccount (call: ApiCall): Promise<void> {
  const accountId = call.state.options.accountId
  return call.json({
    account_id: accountId,
    name: { given_name: 'Emulated', surname: 'Account', familiar_name: 'Emulated', display_name: 'Emulated Account', abbreviated_name: 'EA' },
    email: 'emulated@example.com',
    email_verified: true,
    disabled: false,
    country: 'US',
    locale: 'en',
    is_paired: false,
    account_type: { '.tag': 'basic' },
    root_info: { '.tag': 'user', root_namespace_id: '1', home_namespace_id: '1' }
  })
}

function parseNoArgument (raw: unknown): null {
  if (raw !== null && raw !== undefined) throw new BadArgument('expected null, got value')
  return null
}

export const usersRoutes = {
  'users/get_current_account': apiRoute({ style: 'rpc', commit: false, parse: parseNoArgument, handle: getCurrentAccount })
}

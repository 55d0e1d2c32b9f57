import { apiRoute, type ApiCall } from './api-call.ts'
import { lookup } from './lookup.ts'
import type { Entry } from './namespace.ts'
import { parseCreateSharedLinkArg, parseListSharedLinksArg, type ListSharedLinksArg } from './route-args.ts'
import { sharedLinkMetadata, type SharedLink } from './shared-links.ts'

async function createSharedLink (call: ApiCall, arg: { path: string }): Promise<void> {
  const { state } = call
  const found = lookup(state, arg.path)
  if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
  const { entry } = found
  const existing = state.links.forTarget(entry.id)
  if (existing) {
    // SharedLinkAlreadyExistsMetadata is optional: without it the client has to list the links.
    if (state.faults.sharedLinkExistsWithoutMetadata) return call.endpointError({ '.tag': 'shared_link_already_exists' })
    return call.endpointError({
      '.tag': 'shared_link_already_exists',
      shared_link_already_exists: { '.tag': 'metadata', metadata: sharedLinkMetadata(existing, entry) }
    })
  }
  return call.json(sharedLinkMetadata(state.links.create(entry), entry))
}

// With a path: that item's link plus, unless direct_only, the links of the folders above it.
async function listSharedLinks (call: ApiCall, arg: ListSharedLinksArg): Promise<void> {
  const { state } = call
  let targets: Entry[]
  if (arg.path !== undefined) {
    const found = lookup(state, arg.path)
    if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
    targets = [found.entry]
    if (!arg.directOnly) targets.push(...ancestors(call, found.entry))
  } else {
    targets = state.links.all().map((link) => state.namespace.byId(link.targetId)).filter((entry) => entry !== undefined)
  }
  const links = targets
    .map((entry): [SharedLink | undefined, Entry] => [state.links.forTarget(entry.id), entry])
    .filter((pair): pair is [SharedLink, Entry] => pair[0] !== undefined)
    .map(([link, entry]) => sharedLinkMetadata(link, entry))
  return call.json({ links, has_more: false })
}

function ancestors (call: ApiCall, entry: Entry): Entry[] {
  const found: Entry[] = []
  let path = entry.pathLower
  while (path.lastIndexOf('/') > 0) {
    path = path.slice(0, path.lastIndexOf('/'))
    const folder = call.state.namespace.resolve(path)
    if (folder) found.push(folder)
  }
  return found
}

export const sharingRoutes = {
  'sharing/create_shared_link_with_settings': apiRoute({ style: 'rpc', commit: false, parse: parseCreateSharedLinkArg, handle: createSharedLink }),
  'sharing/list_shared_links': apiRoute({ style: 'rpc', commit: false, parse: parseListSharedLinksArg, handle: listSharedLinks })
}

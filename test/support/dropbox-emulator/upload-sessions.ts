import { randomBytes } from 'node:crypto'
import { ContentHasher } from './content-hash.ts'

export interface UploadSession {
  id: string
  file: string // bytes received so far, on disk
  offset: number
  closed: boolean
  hasher: ContentHasher // content hash of the bytes so far, still open
  busy: boolean // a call is writing to or committing this session
}

// Sessions survive a failed commit (Dropbox hands back upload_session_id so the commit can be
// retried) and end only when a commit succeeds. Expiry is not emulated.
export class UploadSessions {
  #sessions = new Map<string, UploadSession>()

  open (file: string): UploadSession {
    return this.#add({ id: newSessionId(), file, offset: 0, closed: false, hasher: new ContentHasher(), busy: false })
  }

  // The bytes of a files/upload whose commit failed, kept so its upload_session_id can finish them.
  adopt (file: string, size: number, hasher: ContentHasher): UploadSession {
    return this.#add({ id: newSessionId(), file, offset: size, closed: true, hasher, busy: false })
  }

  get (id: string): UploadSession | undefined {
    return this.#sessions.get(id)
  }

  delete (id: string): void {
    this.#sessions.delete(id)
  }

  #add (session: UploadSession): UploadSession {
    this.#sessions.set(session.id, session)
    return session
  }
}

function newSessionId (): string {
  return `pid_upload_session:${randomBytes(24).toString('base64url')}`
}

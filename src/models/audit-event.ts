import { Schema, type Connection, type InferSchemaType } from 'mongoose'

// Who changed what, for the operators: the Dropbox sync's deletions now, admin actions later.
const auditEventSchema = new Schema({
  at: { type: Date, required: true, default: () => new Date() },
  /** 'dropbox-sync', or the admin's username. */
  actor: { type: String, required: true },
  /** What happened, e.g. 'image.deleted'. */
  action: { type: String, required: true },
  /** What it happened to, e.g. an Image record's id. */
  target: { type: String, required: true },
  /** The facts worth keeping once the target is gone (phone number, file name, path, reason). */
  details: { type: Schema.Types.Mixed }
}, {
  collection: 'audit_events',
  versionKey: false
})

// Newest first, paged like the images list.
auditEventSchema.index({ at: -1, _id: -1 })
// The audit page's "what did this person do" filter.
auditEventSchema.index({ actor: 1, at: -1, _id: -1 })

const bind = (connection: Connection) => connection.model('AuditEvent', auditEventSchema)

export type AuditEventRecord = InferSchemaType<typeof auditEventSchema>
export type AuditEventModel = ReturnType<typeof bind>

export function auditEventModel (connection: Connection): AuditEventModel {
  return (connection.models.AuditEvent as AuditEventModel | undefined) ?? bind(connection)
}

/**
 * An event as a writer hands it in; `at` defaults to now. The admin panel's events put the line
 * its audit page shows in `details.summary`.
 */
export interface AuditEventInput {
  actor: string
  action: string
  target: string
  details?: Record<string, unknown>
  at?: Date
}

/** Appends one event. Callers decide what a failure to write it means for them. */
export async function recordAuditEvent (events: AuditEventModel, event: AuditEventInput): Promise<void> {
  await events.create({ ...event, at: event.at ?? new Date() })
}

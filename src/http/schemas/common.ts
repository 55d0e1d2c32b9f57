import { Type, type Static, type TSchema, type TUnsafe } from 'typebox'
import { RETRY_AFTER_SECONDS } from '../../plugins/error-policy.ts'

// The response bodies are named component schemas: each has an `$id`, is registered once with
// fastify.addSchema (COMPONENT_SCHEMAS in ./components.ts, by plugins/swagger.ts) and is used
// through ref(). The OpenAPI document then lists them under components.schemas by that name
// (`Error`, `UploadResult`...), so clients generated from it get types of those names; the
// serializer resolves the same references, so what is documented is what is sent.

/** A schema that is a named component: it has an `$id`. */
export type Component = TSchema & { $id: string }

/** Names a schema as a component (its `$id`), which TypeBox's types do not keep. */
export function component<T extends TSchema> ($id: string, schema: T): T & { $id: string } {
  return Object.assign(schema, { $id })
}

/** A reference to a component, with the component's own static type (a bare Type.Ref has none). */
export function ref<T extends Component> (schema: T): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id))
}

/** A response: its description, body schema and example, and any response headers. */
export function jsonResponse<T extends TSchema> (description: string, schema: T, example: Static<T>, headers?: Record<string, TSchema>) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema, example } }
  }
}

/** A response with several examples, by name. */
export function jsonResponseExamples<T extends TSchema> (description: string, schema: T, examples: Record<string, { summary: string, value: Static<T> }>) {
  return {
    description,
    content: { 'application/json': { schema, examples } }
  }
}

export const ErrorBody = component('Error', Type.Object({
  message: Type.String({ description: 'What went wrong, for a person to read.' })
}, {
  description: 'Every error answers this body.',
  examples: [{ message: 'Phone number is required.' }]
}))

/** An error response: the Error body, with an example of its message. */
export const errorResponse = (description: string, example: string) =>
  jsonResponse(description, ref(ErrorBody), { message: example })

/** Sent with every 503 the error handler answers (a dependency down): it is usually back within seconds. */
export const RetryAfter = Type.Integer({
  minimum: 1,
  description: 'Seconds to wait before retrying.',
  examples: [Number(RETRY_AFTER_SECONDS)]
})

/** A 503 response: the Error body and a Retry-After header. */
export const unavailableResponse = (description: string, example = 'The service is temporarily unavailable. Please retry shortly.') =>
  jsonResponse(description, ref(ErrorBody), { message: example }, { 'Retry-After': RetryAfter })

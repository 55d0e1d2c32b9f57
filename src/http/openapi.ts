// The committed OpenAPI document (openapi/openapi.json) is generated from the route schemas; a
// test fails when it drifts from what the code serves at /docs/json.
export const OPENAPI_PATH = 'openapi/openapi.json'

export function serializeOpenApi (document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`
}

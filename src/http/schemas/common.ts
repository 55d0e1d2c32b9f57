import { Type } from 'typebox'

export const ErrorResponse = Type.Object({
  message: Type.String({ description: 'What went wrong, for a person to read.' })
}, { additionalProperties: true })

export const errorResponse = (description: string, example: string) =>
  Type.Object(ErrorResponse.properties, { description, examples: [{ message: example }] })

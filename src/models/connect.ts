import { createConnection, type Connection } from 'mongoose'
import { imageModel, type ImageModel } from './image.ts'

export interface Database {
  connection: Connection
  images: ImageModel
}

/**
 * Opens a connection and makes sure the indexes exist. Queries give up after a few seconds when
 * the server is unreachable, so requests answer 503 instead of hanging.
 */
export async function openDatabase (url: string): Promise<Database> {
  const connection = createConnection(url, { serverSelectionTimeoutMS: 5000, autoIndex: false })
  await connection.asPromise()
  const images = imageModel(connection)
  await images.createIndexes()
  return { connection, images }
}

const UNAVAILABLE = new Set(['MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoNotConnectedError', 'MongoTopologyClosedError'])

export function isDatabaseUnavailable (err: unknown): boolean {
  return err instanceof Error && UNAVAILABLE.has(err.name)
}

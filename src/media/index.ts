import type { MediaConfig } from '../config'
import { createFsMediaStore } from './fs-store'
import { createS3MediaStore } from './s3-store'
import type { MediaStore } from './store'

export * from './store'

/** The media store `MEDIA_STORE` names: a folder by default, or an S3-compatible bucket. */
export function createMediaStore(config: MediaConfig): MediaStore {
	return config.store.kind === 's3' ? createS3MediaStore(config.store) : createFsMediaStore(config.store.dir)
}

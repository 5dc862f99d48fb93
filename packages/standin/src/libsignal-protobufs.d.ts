// libsignal ships the Signal wire protobufs without typings; Baileys reads them the same way.
declare module 'libsignal/src/protobufs.js' {
	export const PreKeyWhisperMessage: {
		decode(data: Uint8Array): { baseKey?: Uint8Array | null; preKeyId?: number | null; registrationId?: number | null }
	}
}

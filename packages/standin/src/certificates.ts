import { Curve, proto, WA_CERT_DETAILS, type KeyPair } from '@whiskeysockets/baileys'

/**
 * The stand-in's own noise certificate chain: root → intermediate → leaf (the server's static
 * noise key). Baileys checks the intermediate against `WA_CERT_DETAILS.PUBLIC_KEY`, the leaf against
 * the intermediate, and that the intermediate's issuer serial equals `WA_CERT_DETAILS.SERIAL` (0).
 */
export function issueCertChain(root: KeyPair, serverStatic: KeyPair): Uint8Array {
	const intermediate = Curve.generateKeyPair()
	const now = Math.floor(Date.now() / 1000)
	const year = 365 * 24 * 3600
	const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
		serial: 1,
		issuerSerial: WA_CERT_DETAILS.SERIAL,
		key: intermediate.public,
		notBefore: now - 60,
		notAfter: now + 10 * year,
	}).finish()
	const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
		serial: 2,
		issuerSerial: 1,
		key: serverStatic.public,
		notBefore: now - 60,
		notAfter: now + year,
	}).finish()
	return proto.CertChain.encode({
		intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
		leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
	}).finish()
}

export function keyPairFromBase64(value: { public: string; private: string }): KeyPair {
	return { public: Buffer.from(value.public, 'base64'), private: Buffer.from(value.private, 'base64') }
}

export function keyPairToBase64(pair: KeyPair): { public: string; private: string } {
	return { public: Buffer.from(pair.public).toString('base64'), private: Buffer.from(pair.private).toString('base64') }
}

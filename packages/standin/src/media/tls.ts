import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'

/** The stand-in's private certificate authority: kept in its state so a trusted CA file stays valid across restarts. */
export interface MediaCa {
	/** PEM of the CA certificate: what a client trusts (`NODE_EXTRA_CA_CERTS`, or `fetch`'s `tls.ca`). */
	cert: string
	/** PEM (PKCS#8) of the CA's private key. */
	key: string
}

const YEAR_MS = 365 * 24 * 3600 * 1000
const CA_NAME = [
	{ name: 'commonName', value: 'Switchboard WhatsApp stand-in media CA' },
	{ name: 'organizationName', value: 'Switchboard stand-in' },
]

/**
 * A new CA. node:crypto makes the RSA keys and signs (native and fast); node-forge lays out the
 * X.509 certificate, which node:crypto can read but not write. Forge only lays out RSA certificates.
 */
export function createMediaCa(): MediaCa {
	const { key, forgeKey } = newRsaKey()
	const cert = forge.pki.createCertificate()
	cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e)
	cert.serialNumber = serialNumber()
	cert.validity.notBefore = new Date(Date.now() - 3600_000)
	cert.validity.notAfter = new Date(Date.now() + 20 * YEAR_MS)
	cert.setSubject(CA_NAME)
	cert.setIssuer(CA_NAME)
	cert.setExtensions([
		{ name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
		{ name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
		{ name: 'subjectKeyIdentifier' },
	])
	sign(cert, key)
	return { cert: forge.pki.certificateToPem(cert), key }
}

/**
 * A server certificate for the CDN, issued by the CA for the names clients use to reach it
 * (`localhost`, the loopback addresses and the configured media host). It is issued anew at
 * every start, so a changed host name needs no state change.
 */
export function issueServerCertificate(ca: MediaCa, hostnames: string[]): { cert: string; key: string } {
	const caCert = forge.pki.certificateFromPem(ca.cert)
	const { key, forgeKey } = newRsaKey()
	const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hostnames])]
	const cert = forge.pki.createCertificate()
	cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e)
	cert.serialNumber = serialNumber()
	cert.validity.notBefore = new Date(Date.now() - 3600_000)
	cert.validity.notAfter = new Date(Date.now() + YEAR_MS)
	cert.setSubject([{ name: 'commonName', value: names.find((name) => !isIP(name)) ?? 'localhost' }])
	cert.setIssuer(caCert.subject.attributes)
	cert.setExtensions([
		{ name: 'basicConstraints', cA: false },
		{ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
		{ name: 'extKeyUsage', serverAuth: true },
		// Type 2 is a DNS name, type 7 an IP address (RFC 5280 GeneralName).
		{ name: 'subjectAltName', altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })) },
		{ name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
	])
	sign(cert, ca.key)
	return { cert: forge.pki.certificateToPem(cert), key }
}

/**
 * What forge's own `cert.sign` does (sha256WithRSAEncryption over the DER of the TBSCertificate),
 * with node:crypto's native RSA instead of forge's JavaScript one, which takes a tenth of a second.
 */
function sign(cert: forge.pki.Certificate, issuerKey: string): void {
	const pki = forge.pki as typeof forge.pki & { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 }
	cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption ?? ''
	cert.siginfo.algorithmOid = cert.signatureOid
	cert.tbsCertificate = pki.getTBSCertificate(cert)
	const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary')
	cert.signature = createSign('sha256').update(tbs).sign(issuerKey).toString('binary')
}

function newRsaKey(): { key: string; forgeKey: forge.pki.rsa.PrivateKey } {
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
	const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
	return { key, forgeKey: forge.pki.privateKeyFromPem(key) as forge.pki.rsa.PrivateKey }
}

/** A positive 16-byte serial (the top bit cleared so DER does not read it as negative). */
function serialNumber(): string {
	const bytes = randomBytes(16)
	bytes[0] = (bytes[0] ?? 0) & 0x7f
	return bytes.toString('hex')
}

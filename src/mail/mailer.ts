import { createTransport } from 'nodemailer'
import type { Config } from '../config'
import type { Logger } from '../logger'

export interface Mail {
	to: string
	subject: string
	text: string
	html: string
}

/** Sends account mail. Services hand it finished messages from `templates.ts`. */
export interface Mailer {
	send(mail: Mail): Promise<void>
	close(): Promise<void>
}

/** SMTP (nodemailer) when `SMTP_URL` is set; otherwise each mail is written to the log (development). */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom'>, logger: Logger): Mailer {
	if (!config.smtpUrl) return logMailer(logger)
	const transport = createTransport(config.smtpUrl)
	const from = config.mailFrom
	return {
		async send(mail) {
			const info = await transport.sendMail({ from, ...mail })
			logger.debug({ messageId: info.messageId, subject: mail.subject }, 'mail sent')
		},
		async close() {
			transport.close()
		},
	}
}

function logMailer(logger: Logger): Mailer {
	return {
		async send(mail) {
			// Development only: the text carries live one-time links, which is the point here.
			logger.info({ mailTo: mail.to, subject: mail.subject, body: mail.text }, 'mail (SMTP_URL not set, not sent)')
		},
		async close() {},
	}
}

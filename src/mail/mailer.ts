import { createTransport } from 'nodemailer'
import type { Config } from '../config'
import type { Logger } from '../logger'

export interface Mail {
	to: string
	subject: string
	text: string
	html: string
	/** The one link the mail asks its reader to open: logged on a line of its own when mail goes to the log. */
	link: string
}

/** Sends account mail. Services hand it finished messages from `templates.ts`. */
export interface Mailer {
	send(mail: Mail): Promise<void>
	close(): Promise<void>
}

/** Sends by SMTP (nodemailer) or writes to the log, as `config.mailDelivery` says. */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailDelivery' | 'mailFrom'>, logger: Logger): Mailer {
	if (config.mailDelivery !== 'smtp') return logMailer(logger, config.mailDelivery === 'log')
	const transport = createTransport(config.smtpUrl!)
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

function logMailer(logger: Logger, withText: boolean): Mailer {
	return {
		async send(mail) {
			if (withText) logger.info({ mailTo: mail.to, subject: mail.subject, link: mail.link, body: mail.text }, 'mail (SMTP_URL not set, not sent)')
			else logger.warn({ subject: mail.subject }, 'mail not sent: SMTP_URL is not set')
		},
		async close() {},
	}
}

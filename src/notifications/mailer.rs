//! Turning an outbox row into a real message and handing it to the mail server, or writing it
//! to a file when no server is configured.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, SmtpTls};

/// A message as claimed from the outbox.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub attempts: i32,
    /// A file the message carries: its name, content type and bytes.
    pub attachment_name: Option<String>,
    pub attachment_type: Option<String>,
    pub attachment: Option<Vec<u8>>,
    /// A chat channel's message rather than an email.
    pub chat_channel_id: Option<i64>,
}

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

enum Transport {
    /// The server, and the longest one delivery may take.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, std::time::Duration),
    Files(PathBuf),
}

/// Sends messages the configured way.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn from_config(mail: &MailConfig) -> anyhow::Result<Mailer> {
        let transport = match &mail.smtp {
            None => Transport::Files(mail.dir.clone()),
            Some(smtp) => {
                let tls_parameters = || TlsParameters::new(smtp.host.clone());
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                        .port(smtp.port)
                        .timeout(Some(smtp.timeout));
                builder = match smtp.tls {
                    SmtpTls::None => builder.tls(Tls::None),
                    SmtpTls::StartTls => builder.tls(Tls::Required(tls_parameters()?)),
                    SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters()?)),
                };
                if let Some((user, password)) = &smtp.credentials {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                // lettre bounds each network step; the whole delivery is bounded too, since a
                // server can accept the connection and then never answer. Connections are not
                // pooled: one cut off mid-message must never be reused for the next.
                Transport::Smtp(builder.build(), smtp.timeout * 3)
            }
        };
        Ok(Mailer {
            transport,
            from: mail.from.clone(),
        })
    }

    /// True when messages go to files rather than a mail server.
    pub fn writes_files(&self) -> bool {
        matches!(self.transport, Transport::Files(_))
    }

    /// Builds the MIME message: plain text and HTML alternatives, with the outbox's Message-ID.
    pub fn build(&self, m: &Claimed) -> Result<Message, SendError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(m.subject.clone())
            .message_id(Some(m.message_id.clone()));
        for to in &m.to_addrs {
            let mailbox: Mailbox = to.parse().map_err(|_| SendError {
                permanent: true,
                message: format!("`{to}` is not an email address"),
            })?;
            builder = builder.to(mailbox);
        }
        let body = MultiPart::alternative_plain_html(m.body_text.clone(), m.body_html.clone());
        let body = match (&m.attachment_name, &m.attachment_type, &m.attachment) {
            (Some(name), Some(content_type), Some(bytes)) => {
                let content_type = ContentType::parse(content_type).map_err(|_| SendError {
                    permanent: true,
                    message: format!("`{content_type}` is not a content type"),
                })?;
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name.clone()).body(bytes.clone(), content_type))
            }
            _ => body,
        };
        builder.multipart(body).map_err(|e| SendError {
            permanent: true,
            message: format!("the message could not be built: {e}"),
        })
    }

    /// Delivers one message.
    pub async fn send(&self, m: &Claimed) -> Result<(), SendError> {
        let message = self.build(m)?;
        match &self.transport {
            Transport::Smtp(smtp, limit) => {
                match tokio::time::timeout(*limit, smtp.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    }),
                    Err(_) => Err(SendError {
                        permanent: false,
                        message: format!(
                            "the mail server did not answer within {} s",
                            limit.as_secs()
                        ),
                    }),
                }
            }
            Transport::Files(dir) => {
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    let path = dir.join(format!("{:08}.eml", m.id));
                    tokio::fs::write(&path, message.formatted()).await
                };
                write.await.map_err(|e| SendError {
                    permanent: false,
                    message: format!("could not write the message file: {e}"),
                })
            }
        }
    }
}

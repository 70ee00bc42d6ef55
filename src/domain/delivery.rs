//! Why a notification was not delivered, in words a tenant may read.
//!
//! A failed attempt is stored as a stable class (and the HTTP status, when there was one); the
//! error text of the attempt itself (a resolver's answer, an internal host name or address, a
//! relay's reply) goes to the server log only, and to the operator's `statibeat mail list`.
//! Tenants see the class's generic words in the delivery log and the audit log.

/// The kind of failure one delivery attempt met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The webhook's host is, or resolves to, an address the SSRF guard refuses, or does not
    /// resolve at all. One class for both, so a tenant cannot use webhooks to learn which
    /// internal names exist (decision 0010).
    AddressNotAllowed,
    ConnectionFailed,
    TlsFailed,
    TimedOut,
    /// The receiver answered with a status other than 2xx.
    HttpStatus,
    /// The subscriber stopped receiving webhooks before the attempt.
    NotSubscribed,
    /// The receiving mail system refused the recipient's address (a bounce).
    MailRecipientRejected,
    /// The mail relay refused the message for good (a 5xx reply).
    MailRefused,
    /// The mail relay could not take the message now (a 4xx reply, a network or relay problem).
    MailDeferred,
    /// Anything else (and attempts recorded before classes existed).
    Other,
}

const ALL: [FailureClass; 10] = [
    FailureClass::AddressNotAllowed,
    FailureClass::ConnectionFailed,
    FailureClass::TlsFailed,
    FailureClass::TimedOut,
    FailureClass::HttpStatus,
    FailureClass::NotSubscribed,
    FailureClass::MailRecipientRejected,
    FailureClass::MailRefused,
    FailureClass::MailDeferred,
    FailureClass::Other,
];

impl FailureClass {
    /// The stable code stored with the attempt and shown as `error_code`.
    pub fn code(self) -> &'static str {
        match self {
            FailureClass::AddressNotAllowed => "address_not_allowed",
            FailureClass::ConnectionFailed => "connection_failed",
            FailureClass::TlsFailed => "tls_failed",
            FailureClass::TimedOut => "timed_out",
            FailureClass::HttpStatus => "http_status",
            FailureClass::NotSubscribed => "not_subscribed",
            FailureClass::MailRecipientRejected => "recipient_rejected",
            FailureClass::MailRefused => "mail_refused",
            FailureClass::MailDeferred => "mail_deferred",
            FailureClass::Other => "delivery_failed",
        }
    }

    /// The class a stored code names; anything unknown (older rows hold free text) is `Other`.
    /// `name_not_resolved`, a class of its own for a while, reads as `address_not_allowed`, so
    /// older attempts do not tell the two apart either.
    pub fn from_code(code: &str) -> FailureClass {
        if code == "name_not_resolved" {
            return FailureClass::AddressNotAllowed;
        }
        ALL.into_iter().find(|c| c.code() == code).unwrap_or(FailureClass::Other)
    }

    /// Generic words for a tenant, with the HTTP status as the only detail.
    pub fn describe(self, status: Option<i64>) -> String {
        match (self, status) {
            (FailureClass::HttpStatus, Some(410)) => "HTTP 410: the receiver says it is gone".into(),
            (FailureClass::HttpStatus, Some(s)) => format!("HTTP {s}"),
            (FailureClass::HttpStatus, None) => "the receiver answered with an error".into(),
            (FailureClass::AddressNotAllowed, _) => {
                "the webhook's host does not resolve to an allowed public address".into()
            }
            (FailureClass::ConnectionFailed, _) => "connection failed".into(),
            (FailureClass::TlsFailed, _) => "secure connection (TLS) failed".into(),
            (FailureClass::TimedOut, _) => "timed out".into(),
            (FailureClass::NotSubscribed, _) => "the subscriber no longer receives webhooks".into(),
            (FailureClass::MailRecipientRejected, _) => "the receiving mail server refused the address".into(),
            (FailureClass::MailRefused, _) => "the mail server refused the message (5xx)".into(),
            (FailureClass::MailDeferred, _) => "the mail server could not take the message now".into(),
            (FailureClass::Other, _) => "delivery failed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_text_stays_generic() {
        for c in ALL {
            assert_eq!(FailureClass::from_code(c.code()), c);
        }
        let old = "permanent: runsc resolves to 127.0.0.1, which is not a public address";
        assert_eq!(FailureClass::from_code(old), FailureClass::Other);
        assert_eq!(FailureClass::from_code(old).describe(None), "delivery failed");
        // Attempts stored while names that did not resolve had a class of their own read the same
        // as an address that is not allowed.
        assert_eq!(FailureClass::from_code("name_not_resolved"), FailureClass::AddressNotAllowed);
    }

    #[test]
    fn only_the_http_status_is_shown_as_detail() {
        assert_eq!(FailureClass::HttpStatus.describe(Some(503)), "HTTP 503");
        assert!(FailureClass::HttpStatus.describe(Some(410)).starts_with("HTTP 410"));
        assert_eq!(FailureClass::TimedOut.describe(Some(503)), "timed out");
    }
}

//! The mails the service sends, as plain text: what a write hands to the mail transport once it
//! has committed. Composing them here keeps their wording beside the rules that send them.

use std::fmt;

/// One mail to one address.
#[derive(Clone, PartialEq, Eq)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The body may carry a one-time code: it never goes to a log.
impl fmt::Debug for Letter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Letter").field("to", &self.to).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// How long an email confirmation code is good for.
pub const EMAIL_CODE_MINUTES: i64 = 30;

/// The code that confirms `new_email` as the user's address. The code is in the body alone: a
/// subject is logged.
pub fn email_code(new_email: &str, first_name: &str, code: &str) -> Letter {
    Letter {
        to: new_email.to_string(),
        subject: "Confirm your new email address".into(),
        body: format!(
            "Hello {first_name},\n\n\
             Someone, hopefully you, asked to make {new_email} the email address of their \
             provisioning user. To confirm it, send this code back within {EMAIL_CODE_MINUTES} minutes:\n\n\
             \x20   {code}\n\n\
             for example:\n\n\
             \x20   PATCH /api/user\n\
             \x20   {{\"data\": {{\"type\": \"users\", \"attributes\": {{\"_confirm_email_code\": \"{code}\"}}}}}}\n\n\
             The code works once. If you did not ask for this, ignore this message: nothing changes \
             until the code is sent back.\n"
        ),
    }
}

/// A word to the current address that a change to another one was asked for.
pub fn email_change_asked(current_email: &str, first_name: &str, new_email: &str) -> Letter {
    Letter {
        to: current_email.to_string(),
        subject: "A change of your email address was asked for".into(),
        body: format!(
            "Hello {first_name},\n\n\
             A change of your provisioning user's email address to {new_email} was asked for. \
             It takes effect only once the code mailed to {new_email} is sent back. If this was \
             not you, rotate your credential's secret now.\n"
        ),
    }
}

/// What an invitation says about itself.
pub struct Invitation<'a> {
    pub email: &'a str,
    pub organization: &'a str,
    pub role: &'a str,
    pub inviter_name: &'a str,
    pub inviter_email: &'a str,
    /// Whether a user with this confirmed email exists (the membership is active already).
    pub active: bool,
}

/// An invitation to an organization, sent when the membership is made and on `resend`.
pub fn invitation(invitation: &Invitation) -> Letter {
    let Invitation { email, organization, role, inviter_name, inviter_email, active } = invitation;
    let next = if *active {
        "Your user's memberships now include it: list them with GET /api/memberships.".to_string()
    } else {
        format!(
            "The membership starts the first time a user whose confirmed email is {email} takes a \
             token; ask an operator of this service for a user with this email if you have none."
        )
    };
    Letter {
        to: email.to_string(),
        subject: format!("{inviter_name} invited you to {organization}"),
        body: format!(
            "Hello,\n\n\
             {inviter_name} <{inviter_email}> invited you to the organization {organization}, \
             with the role {role}.\n\n{next}\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_never_shows_its_body_in_debug() {
        let letter = email_code("new@example.com", "Ada", "ABCDEFGHJK");
        assert!(letter.body.contains("ABCDEFGHJK"));
        let shown = format!("{letter:?}");
        assert!(shown.contains("new@example.com"));
        assert!(!shown.contains("within"), "{shown}");
    }

    #[test]
    fn an_invitation_names_the_organization_role_and_inviter() {
        let letter = invitation(&Invitation {
            email: "bob@example.com",
            organization: "Acme",
            role: "admin",
            inviter_name: "Ada Lovelace",
            inviter_email: "ada@example.com",
            active: false,
        });
        assert_eq!(letter.to, "bob@example.com");
        for part in ["Acme", "admin", "Ada Lovelace", "ada@example.com"] {
            assert!(letter.body.contains(part), "{part} missing from {}", letter.body);
        }
    }
}

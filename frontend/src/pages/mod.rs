//! One module per page.

mod agents;
mod customer;
mod home;
mod new_ticket;
mod not_found;
mod outbox;
mod portal;
mod setup;
mod sign_in;
mod teams;
mod ticket;
mod tickets;

pub use agents::AgentsPage;
pub use customer::{CustomerPage, MergeCustomersPage};
pub use home::AgentHome;
pub use new_ticket::NewTicketPage;
pub use not_found::NotFound;
pub use outbox::OutboxPage;
pub use portal::{PortalHome, PortalNewRequest, PortalSignIn, PortalTicketPage};
pub use setup::SetupPage;
pub use sign_in::SignInPage;
pub use teams::TeamsPage;
pub use ticket::TicketPage;
pub use tickets::TicketsPage;

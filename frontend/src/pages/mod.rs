//! One module per page.

mod agents;
mod customer;
mod customer_fields;
mod help;
mod home;
mod new_ticket;
mod not_found;
mod notifications;
mod organizations;
mod outbox;
mod portal;
mod setup;
mod sign_in;
mod sla_report;
mod slas;
mod teams;
mod ticket;
mod tickets;

pub use agents::AgentsPage;
pub use customer::{CustomerPage, DuplicatesPage, MergeCustomersPage};
pub use customer_fields::CustomerFieldsPage;
pub use help::{HelpArticlePage, HelpCategoryPage, HelpHome};
pub use home::AgentHome;
pub use new_ticket::NewTicketPage;
pub use not_found::NotFound;
pub use notifications::{NotificationsLink, NotificationsPage};
pub use organizations::{OrganizationPage, OrganizationsPage};
pub use outbox::OutboxPage;
pub use portal::{PortalHome, PortalNewRequest, PortalSignIn, PortalTicketPage};
pub use setup::SetupPage;
pub use sign_in::SignInPage;
pub use sla_report::SlaReportPage;
pub use slas::SlasPage;
pub use teams::TeamsPage;
pub use ticket::TicketPage;
pub use tickets::TicketsPage;

//! What every domain stands on and none of them owns: time as frontdesk stores it, HTML escaping
//! (both browser-safe), and on the server the database, the application context, rate limits,
//! the audit log, safe markdown rendering and the owned background tasks.

pub mod html;
pub mod time;

store! {
    pub mod audit;
    pub mod context;
    pub mod db;
    pub mod markdown;
    pub mod rate_limit;
    pub mod tasks;
}

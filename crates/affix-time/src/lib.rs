#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod civil;
mod clock;
mod date;
mod error;
mod millis;

pub use clock::{Clock, ManualClock, SystemClock};
pub use date::Date;
pub use error::Error;
pub use millis::{MS_PER_DAY, UnixMillis};

//! Addendums signed inside the desk: the documents it generates and the seal it puts on them.

pub mod addendum;
pub mod chain;
pub mod der;
pub mod pdf;
pub mod rules;
pub mod seal;

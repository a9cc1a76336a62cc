pub mod adl_round;
pub mod collateral;
pub mod exchange;
pub mod margin_account;
pub mod market;
pub mod params;
pub mod proposal;
pub mod wide;

pub use adl_round::*;
pub use collateral::*;
pub use exchange::*;
pub use margin_account::*;
pub use market::*;
pub use params::*;
pub use proposal::*;
pub use wide::*;

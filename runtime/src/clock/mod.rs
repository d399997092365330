//! Clocks: what paces the real-time executor's domain threads. The system
//! clock and a simulated one for tests ([`pace`]); a sound device's frame
//! count, so a speaker's domain follows its crystal ([`device_clock`]).

pub mod device_clock;
pub mod pace;

pub use device_clock::{DeviceClock, DeviceCounter};
pub use pace::{PaceClock, SimClock, SystemClock};

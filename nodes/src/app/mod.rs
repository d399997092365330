//! Host endpoints: `app_in` and `app_out`, where a program that embeds
//! the engine pushes frames in and pops frames out
//! (`Engine::input`, `Engine::output`; see docs/embedding.md).

pub mod app_in;
pub mod app_out;

use sluice_dsl::Constraint;
use sluice_runtime::Registry;

/// Endpoint names are unique in a graph: the host finds them by name.
const UNIQUE_NAME: Constraint = Constraint::Unique {
    param: "name",
    what: "host endpoint",
};

/// Registers `app_in` and `app_out`.
pub fn register(r: &mut Registry) {
    r.register(app_in::signature(), app_in::build);
    r.register(app_out::signature(), app_out::build);
}

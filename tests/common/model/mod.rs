//! A reference model of the documented semantics (include/sessionstore.h), deliberately simple: the
//! sessions live in a plain `Vec` in first-insertion order, every listing is a linear scan, every stored
//! text is rebuilt from its fields. It shares no code with the engine.
//!
//! Inputs are generated as structured documents (`Doc`) that know their own text, so the model never
//! parses JSON: it reads the schema from the structure and renders the text the engine must store.
//!
//! `decode` turns arbitrary bytes into a setup and a sequence of operations; `run` drives the engine (each
//! operation through the Rust API or the C ABI) and the model side by side, and fails on the first
//! difference in a result, a status kind, an error location, or the whole state (export, stats,
//! `check_invariants`) after each step.
//!
//! Strict mode (`strict`, env `SS_MODEL_STRICT=1`) adds the inputs that exposed defects now fixed or
//! behaviour settled as policy (see docs/bad-input.md); the model expects the current behaviour for
//! them. The default run does not generate them (enabling them there would change the sequences
//! decoded from given bytes); dedicated tests in tests/hostile.rs and tests/model.rs pin them.

mod decode;
mod docs;
mod ops;
mod reference;
mod run;

// Everything that was public in the single-file module stays reachable as `model::Name`. Each crate that
// includes tests/common uses a different subset (hence the allow, as `dead_code` in tests/common/mod.rs).
#[allow(unused_imports)]
pub use self::{
    decode::{decode, decode_bounded, decode_expiring, Gen, IDS, MAX_OPS},
    docs::{escape_all, Batch, Doc, IdsDoc, ImportDoc, OuterFault, TextFault, Top, V},
    ops::{Bounds, Op, Setup, Via},
    reference::{Expected, Model},
    run::{run, run_collect, run_durable, run_redis, strict_from_env, World},
};

pub const MODES: [&str; 4] = ["agent", "team", "workflow", "workflow_v2"];
const ENTITY_KEYS: [&str; 3] = ["agent_id", "team_id", "workflow_id"];
/// Which of ENTITY_KEYS a mode filters on.
const ENTITY_OF_MODE: [usize; 4] = [0, 1, 2, 2];

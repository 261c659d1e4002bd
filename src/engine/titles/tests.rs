//! Unit tests of the conventions (rule numbers of `titles-taxonomy.md` §5).

use super::*;

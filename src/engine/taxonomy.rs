//! The value sets of `docs/spec/titles-taxonomy.md` §2 and §3. The ids are part of
//! the contract (campaign DMU profiles name functions by id), so they are a
//! closed enum here; what maps words onto them is data.

use std::fmt;

/// A department (16 ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Function {
    Executive,
    Finance,
    It,
    EngineeringRnd,
    Hr,
    Marketing,
    Sales,
    Procurement,
    Operations,
    Facilities,
    Legal,
    CustomerService,
    Administration,
    Healthcare,
    Education,
    Other,
}

impl Function {
    pub const ALL: [Function; 16] = [
        Function::Executive,
        Function::Finance,
        Function::It,
        Function::EngineeringRnd,
        Function::Hr,
        Function::Marketing,
        Function::Sales,
        Function::Procurement,
        Function::Operations,
        Function::Facilities,
        Function::Legal,
        Function::CustomerService,
        Function::Administration,
        Function::Healthcare,
        Function::Education,
        Function::Other,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Function::Executive => "executive",
            Function::Finance => "finance",
            Function::It => "it",
            Function::EngineeringRnd => "engineering_rnd",
            Function::Hr => "hr",
            Function::Marketing => "marketing",
            Function::Sales => "sales",
            Function::Procurement => "procurement",
            Function::Operations => "operations",
            Function::Facilities => "facilities",
            Function::Legal => "legal",
            Function::CustomerService => "customer_service",
            Function::Administration => "administration",
            Function::Healthcare => "healthcare",
            Function::Education => "education",
            Function::Other => "other",
        }
    }

    pub fn from_id(id: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.id() == id)
    }
}

/// A rank, highest first (7 + unknown). `Ord` follows the ladder: a smaller
/// value is a higher rank, so `min` picks the highest of several parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Seniority {
    Owner,
    CLevel,
    VpDirector,
    HeadManager,
    SeniorSpecialist,
    Staff,
    InternTrainee,
    Unknown,
}

impl Seniority {
    pub const ALL: [Seniority; 8] = [
        Seniority::Owner,
        Seniority::CLevel,
        Seniority::VpDirector,
        Seniority::HeadManager,
        Seniority::SeniorSpecialist,
        Seniority::Staff,
        Seniority::InternTrainee,
        Seniority::Unknown,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Seniority::Owner => "owner",
            Seniority::CLevel => "c_level",
            Seniority::VpDirector => "vp_director",
            Seniority::HeadManager => "head_manager",
            Seniority::SeniorSpecialist => "senior_specialist",
            Seniority::Staff => "staff",
            Seniority::InternTrainee => "intern_trainee",
            Seniority::Unknown => "unknown",
        }
    }

    pub fn from_id(id: &str) -> Option<Seniority> {
        Seniority::ALL.into_iter().find(|s| s.id() == id)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl fmt::Display for Seniority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for f in Function::ALL {
            assert_eq!(Function::from_id(f.id()), Some(f));
        }
        for s in Seniority::ALL {
            assert_eq!(Seniority::from_id(s.id()), Some(s));
        }
        assert_eq!(Function::from_id("IT"), None);
    }

    #[test]
    fn ladder_orders_highest_first() {
        assert!(Seniority::Owner < Seniority::CLevel);
        assert_eq!(
            Seniority::Staff.min(Seniority::HeadManager),
            Seniority::HeadManager
        );
    }
}

//! Empty: only the dependencies are built (workload f).

//! SQL review: statement splitting, parsing, rules, policy and findings. Pure: no kube, no sqlx.

//! Contract suite for the store port: every [`crate::RecordStore`] adapter must pass it.
//!
//! ```ignore
//! async fn fresh() -> std::sync::Arc<dyn eportal_ports::RecordStore> { /* new, empty, migrated */ }
//! eportal_ports::store_contract!(fresh);
//! eportal_ports::outbox_contract!(fresh); // only stores with a relayed outbox (PostgreSQL)
//! eportal_ports::ledger_tamper_contract!(fresh_with_sql); // tampering, with the engine's SQL
//! ```
//!
//! Each case gets its own fresh store and seeds what it needs through the port itself
//! ([`fixture::seed`]); cases must never assume anything about how an engine stores rows.

pub mod amendments;
pub mod directory;
pub mod documents;
pub mod fixture;
pub mod ledger;
pub mod modes;
pub mod outbox;
pub mod policies;
pub mod regrades;
pub mod results;
pub mod sessions;
pub mod sheets;
pub mod versions;

/// One `#[tokio::test]` per store case. `$fresh` is an `async fn() -> Arc<dyn RecordStore>`
/// returning a fresh, empty, migrated store of its own.
#[macro_export]
macro_rules! store_contract {
    ($fresh:path) => {
        $crate::store_contract!(@cases $fresh;
            directory::ping_answers,
            directory::institution_round_trips_and_updates,
            directory::upserts_are_idempotent_and_update,
            directory::missing_references_are_invalid,
            directory::students_are_paged_in_matric_order,
            directory::lookups_return_what_was_stored,
            directory::roster_tells_known_from_registered,
            directory::registered_students_are_the_class_in_matric_order,
            directory::users_upsert_and_lookup,
            directory::setting_or_init_keeps_the_first_value,
            sessions::session_version_moves_on_every_change_and_only_then,
            sessions::concurrent_ends_each_count,
            sessions::staff_with_role_lists_the_holders,
            sessions::password_change_flag_is_set_by_the_registry_and_cleared_by_the_holder,
            sheets::submit_sheet_is_idempotent_by_term_and_sha,
            sheets::apply_stores_rows_errors_and_counts,
            sheets::apply_is_idempotent_on_a_final_sheet,
            modes::removing_scores_waits_for_confirmation,
            modes::add_rows_sheets_add_to_the_scores,
            modes::the_earlier_file_uploaded_again_is_current_again,
            versions::newer_sheet_versions_changed_scores,
            versions::older_sheet_applied_late_is_superseded,
            versions::rejected_sheet_applies_nothing,
            versions::fail_sheet_marks_it_failed,
            versions::all_sheets_are_paged_newest_first_and_filtered,
            versions::retries_are_counted_with_the_latest_error,
            results::semester_results_follow_the_core,
            results::workflow_moves_with_a_fresh_from_state,
            results::workflow_race_has_one_winner,
            ledger::changes_are_appended_in_order,
            ledger::signatures_are_stored_once_per_head,
            ledger::an_untouched_ledger_verifies,
            ledger::concurrent_changes_make_one_chain,
            documents::documents_round_trip_by_code,
            documents::documents_of_unknown_students_are_invalid,
            documents::revocation_is_kept_once,
            amendments::only_a_published_result_is_amended,
            amendments::an_amendment_applies_only_after_its_last_approval,
            amendments::a_rejected_amendment_changes_nothing,
            amendments::an_amendment_is_decided_only_once_its_sheet_is_judged,
            policies::version_one_comes_from_the_institution,
            policies::a_store_without_scores_switches_at_once,
            policies::one_regrade_runs_at_a_time,
            policies::a_sheet_judged_under_another_book_applies_nothing,
            regrades::a_regrade_grades_as_from_scratch,
            regrades::a_sheet_applied_during_a_regrade_is_graded_at_the_switch,
        );
    };
    (@cases $fresh:path; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::contract::store::$module::$case($fresh().await).await;
            }
        )*
    };
}

/// One `#[tokio::test]` per ledger tampering case. `$fresh` is an
/// `async fn() -> (Arc<dyn RecordStore>, contract::store::ledger::Sql)`: a fresh store and a
/// runner of SQL statements on its database.
#[macro_export]
macro_rules! ledger_tamper_contract {
    ($fresh:path) => {
        $crate::ledger_tamper_contract!(@cases $fresh;
            an_altered_row_is_named,
            a_deleted_row_is_named,
            a_deleted_head_is_named,
            swapped_rows_are_named,
            a_rewritten_chain_fails_the_signature_check,
        );
    };
    (@cases $fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, sql) = $fresh().await;
                $crate::contract::store::ledger::$case(store, sql).await;
            }
        )*
    };
}

/// One `#[tokio::test]` per outbox case, for stores whose jobs wait in an outbox for a relay.
#[macro_export]
macro_rules! outbox_contract {
    ($fresh:path) => {
        $crate::store_contract!(@cases $fresh;
            outbox::submit_writes_exactly_one_outbox_entry,
            outbox::outbox_is_oldest_first_and_done_removes,
            regrades::regrade_jobs_go_through_the_outbox,
        );
    };
}

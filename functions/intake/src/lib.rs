//! The document intake service: submission forms uploaded as TXT, PDF, DOCX or EML are
//! read, split into cited passages, retrieved per field group and extracted (offline by
//! default), reviewed by a person and submitted through the submission saga, whose
//! service this crate reaches only through its function, never its code.

pub mod domain;
pub mod handlers;
pub mod model;
pub mod providers;
pub mod routes;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod worker;

use state::IntakeState;
use tracseq_aws::FunctionDef;

tracseq_aws::service_state!(IntakeState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(IntakeState;
    http: [
        protected r::CREATE => h::create,
        protected r::LIST => h::list,
        protected r::GET => h::get,
        protected r::TEXT => h::text,
        protected r::PATCH => h::patch,
        protected r::SUBMIT => h::submit,
        protected r::REJECT => h::reject,
        protected r::ASK => h::ask,
        protected r::GET_SETTINGS => h::get_settings,
        protected r::PUT_SETTINGS => h::put_settings,
    ],
    background: [
        "intake_extract" => |st, event| Box::pin(worker::handle(st, event)),
        "intake_extract_dead_letters" => |st, event| Box::pin(worker::dead_letters(st, event)),
    ]
);

//! Collects errors so that every problem in the input is reported in one compile.

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// The errors found so far while parsing and checking one derive input.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    /// An empty context.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Reports `msg`, pointing at `tokens` in the user's input.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.syn_error(syn::Error::new_spanned(tokens, msg));
    }

    /// Reports an error that syn (or a parser of ours) produced.
    pub(crate) fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// Ends the collection; the input is valid when this is empty.
    pub(crate) fn finish(self) -> Vec<syn::Error> {
        self.errors.into_inner()
    }
}

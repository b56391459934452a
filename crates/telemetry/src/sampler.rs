//! Sampling that keeps a flow's linked traces together.
//!
//! An upload, the recompute it causes and the alert that follows are three
//! traces joined by links (each stream hop starts a new trace linked to the
//! one that appended the event). Ratio sampling of each new trace alone
//! would keep a sampled upload's recompute only one time in ten at 10 %.
//! So a new trace is kept whenever a span it links to was kept; otherwise
//! the ratio decides. Within a trace the parent decides, as usual.

use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

/// Parent-based; for a new trace, kept when any linked span was kept, else
/// kept with probability `ratio`.
#[derive(Debug, Clone)]
pub(crate) struct LinkedFlowSampler {
    ratio: Sampler,
}

impl LinkedFlowSampler {
    /// New traces without a kept link are kept with probability `ratio`.
    pub(crate) fn new(ratio: f64) -> Self {
        Self {
            ratio: Sampler::TraceIdRatioBased(ratio),
        }
    }
}

fn decided(decision: SamplingDecision, trace_state: TraceState) -> SamplingResult {
    SamplingResult {
        decision,
        attributes: Vec::new(),
        trace_state,
    }
}

impl ShouldSample for LinkedFlowSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if let Some(parent) = parent_context.filter(|cx| cx.has_active_span()) {
            let span = parent.span();
            let parent = span.span_context();
            let decision = if parent.is_sampled() {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            };
            return decided(decision, parent.trace_state().clone());
        }
        if links.iter().any(|l| l.span_context.is_sampled()) {
            return decided(SamplingDecision::RecordAndSample, TraceState::default());
        }
        self.ratio
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags};

    use super::*;

    fn context(sampled: bool) -> SpanContext {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap_or(TraceId::INVALID),
            SpanId::from_hex("00f067aa0ba902b7").unwrap_or(SpanId::INVALID),
            flags,
            true,
            TraceState::default(),
        )
    }

    fn decide(sampler: &LinkedFlowSampler, parent: Option<bool>, links: &[bool]) -> SamplingDecision {
        let parent = parent.map(|p| Context::new().with_remote_span_context(context(p)));
        let links: Vec<Link> = links.iter().map(|l| Link::with_context(context(*l))).collect();
        let id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap_or(TraceId::INVALID);
        sampler
            .should_sample(parent.as_ref(), id, "span", &SpanKind::Internal, &[], &links)
            .decision
    }

    #[test]
    fn a_new_trace_linked_to_a_kept_span_is_kept() {
        let never = LinkedFlowSampler::new(0.0);
        assert_eq!(decide(&never, None, &[]), SamplingDecision::Drop);
        assert_eq!(decide(&never, None, &[false, true]), SamplingDecision::RecordAndSample);
        assert_eq!(decide(&never, None, &[false]), SamplingDecision::Drop);
        // Within a trace, the parent decides, links or not.
        assert_eq!(decide(&never, Some(true), &[]), SamplingDecision::RecordAndSample);
        assert_eq!(decide(&never, Some(false), &[true]), SamplingDecision::Drop);
        let always = LinkedFlowSampler::new(1.0);
        assert_eq!(decide(&always, None, &[]), SamplingDecision::RecordAndSample);
    }
}

/*
 * selector: label sets and the selectors that match them.
 *
 * Two selector forms: a Service's spec.selector (a plain map, every pair
 * must be present with an equal value) and metav1.LabelSelector
 * (matchLabels and matchExpressions, ANDed), which NetworkPolicy uses.
 * Label matching itself is linear in the (small) label maps.
 *
 * The Pod index answers "which Pods of namespace N carry key=value"
 * without looking at every Pod: a hash table from (namespace, key,
 * value) to the ascending list of Pod indices carrying that label, plus
 * one list per namespace of all its Pods.  A selector is resolved by
 * walking its smallest posting list and checking the other pairs on
 * each candidate, so resolving S Services over P Pods costs about the
 * number of Pods each Service really selects, not S x P.
 *
 * Pure: no I/O; the index borrows the kset's Pods and strings.
 */
#ifndef SVCPROXY_SELECTOR_H
#define SVCPROXY_SELECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "kobj-t.h"

/* The value of key in labels, or NULL when the key is absent. */
const char *sel_label_get(const struct kstrmap *labels, const char *key);

/*
 * Equality selector (Service spec.selector, labels.SelectorFromSet):
 * 1 when every pair of sel is in labels with the same value.  An empty
 * sel matches every label set.
 */
int	 sel_match_map(const struct kstrmap *sel, const struct kstrmap *labels);

/*
 * One matchExpressions requirement: In, NotIn, Exists, DoesNotExist as
 * apimachinery labels.Requirement.Matches does.  An unknown operator
 * matches nothing (validation rejects it before this runs).
 */
int	 sel_match_req(const struct klabel_req *, const struct kstrmap *labels);

/*
 * metav1.LabelSelector, as LabelSelectorAsSelector(): an absent selector
 * (y == NULL) matches nothing; an empty one ({}) matches everything;
 * otherwise every matchLabels pair and every requirement must hold.
 * Callers with their own meaning for "absent" (NetworkPolicy peers)
 * must decide that before calling.
 */
int	 sel_match_selector(const struct klabel_selector *,
	    const struct kstrmap *labels);

/* A posting list: the Pods of one namespace carrying one label. */
struct sel_posting {
	const char		*ns;		/* kset arena */
	const char		*key;		/* kset arena; NULL: all Pods */
	const char		*value;		/* kset arena */
	uint64_t		 hash;
	uint32_t		*pods;		/* index arena; ascending */
	uint32_t		 n;
	uint32_t		 id;		/* creation order, building */
};

struct sel_index {
	struct kpod * const	*pods;		/* borrowed: the kset's array */
	size_t			 npods;
	struct sel_posting	*slots;		/* index arena; open hash */
	size_t			 nslots;	/* power of two */
	size_t			 nused;		/* lists in slots */
};

/*
 * Index pods[0..npods) (invalid ones are left out) into idx, allocating
 * from a, which must outlive idx.  Returns 0, or -1 when a fails.
 */
int	 sel_index_build(struct sel_index *idx, struct arena *a,
	    struct kpod * const *pods, size_t npods);

/*
 * The posting list of key=value in ns, or with key NULL every indexed
 * Pod of ns; NULL when there is none (an empty list).
 */
const struct sel_posting *sel_index_get(const struct sel_index *,
	    const char *ns, const char *key, const char *value);

/*
 * Iterate the Pods of one namespace a selector picks, in index order
 * (the kset's namespace/name order).  No allocation: the iterator
 * lives on the caller's stack and borrows idx and the selector.
 */
struct sel_iter {
	const struct sel_index		*idx;
	const struct kstrmap		*eq;	/* equality form, or */
	const struct klabel_selector	*ls;	/* LabelSelector form */
	const uint32_t			*cand;	/* smallest posting list */
	size_t				 ncand;
	size_t				 i;
};

/* Pods of ns matching a Service selector; empty sel: every Pod of ns. */
void	 sel_iter_map(struct sel_iter *, const struct sel_index *,
	    const char *ns, const struct kstrmap *sel);
/* Pods of ns matching a LabelSelector (absent: none, {}: all). */
void	 sel_iter_selector(struct sel_iter *, const struct sel_index *,
	    const char *ns, const struct klabel_selector *);
/* The next matching Pod, or NULL at the end. */
const struct kpod *sel_iter_next(struct sel_iter *);

#endif

/*
 * hash.h and vec.h: the shared FNV-1a and array growth.  FNV-1a values
 * are observable (allocated addresses and ports start at them), so
 * they are pinned to the published test vectors.
 */
#include "config.h"

#include <stdint.h>

#include "hash.h"
#include "unit.h"
#include "vec.h"

START_TEST(test_fnv1a64_vectors)
{
	/* The FNV reference test vectors (isthe.com/chongo/tech/comp/fnv). */
	ck_assert_uint_eq(fnv1a64_str(FNV1A64_INIT, ""), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(fnv1a64_str(FNV1A64_INIT, "a"),
	    0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(fnv1a64_str(FNV1A64_INIT, "foobar"),
	    0x85944171f73967e8ULL);
	ck_assert_uint_eq(fnv1a64_buf(FNV1A64_INIT, "foobar", 6),
	    0x85944171f73967e8ULL);
	/* Chained parts hash as their concatenation. */
	ck_assert_uint_eq(fnv1a64_str(fnv1a64_str(FNV1A64_INIT, "foo"), "bar"),
	    0x85944171f73967e8ULL);
	ck_assert_uint_eq(fnv1a64_byte(FNV1A64_INIT, 'a'),
	    0xaf63dc4c8601ec8cULL);
}
END_TEST

START_TEST(test_vec_grow)
{
	int	*v = NULL, *was;
	size_t	 cap = 0, i;

	ck_assert_int_eq(VEC_GROW(&v, &cap, 1, 16), 0);
	ck_assert_uint_eq(cap, 16);
	for (i = 0; i < 16; i++)
		v[i] = (int)i;
	was = v;
	ck_assert_int_eq(VEC_GROW(&v, &cap, 16, 16), 0);
	ck_assert_ptr_eq(v, was);		/* room enough: untouched */
	ck_assert_int_eq(VEC_GROW(&v, &cap, 17, 16), 0);
	ck_assert_uint_eq(cap, 32);
	ck_assert_int_eq(VEC_GROW(&v, &cap, 100, 16), 0);
	ck_assert_uint_eq(cap, 128);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(v[i], (int)i);	/* kept across moves */
	/* Overflow fails and leaves the array as it was. */
	was = v;
	ck_assert_int_eq(VEC_GROW(&v, &cap, SIZE_MAX / 2, 16), -1);
	ck_assert_int_eq(vec_grow((void **)&v, &cap, SIZE_MAX, 1, 16), -1);
	ck_assert_ptr_eq(v, was);
	ck_assert_uint_eq(cap, 128);
	free(v);
}
END_TEST

static Suite *
hash_suite(void)
{
	Suite	*s = suite_create("hash");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_fnv1a64_vectors);
	tcase_add_test(tc, test_vec_grow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(hash_suite());
}

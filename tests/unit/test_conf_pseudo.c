/*
 * cmocka tests of the NFSv4 pseudo-root (conf/pseudo.c): the tree built from the exports'
 * pseudo paths, its order and numbering, lookups by component and by path, the root export,
 * and the refusals of pseudo_build() itself.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "test_conf_util.h"
#include "pseudo.h"

static void mark(const struct pseudo_node *n, bool *seen, size_t nseen, size_t *count)
{
	assert_true(n->index < nseen);
	assert_false(seen[n->index]);
	seen[n->index] = true;
	(*count)++;
	for (size_t i = 0; i < n->nchildren; i++) {
		assert_ptr_equal(n->children[i]->parent, n);
		if (i)
			assert_true(strcmp(n->children[i - 1]->name, n->children[i]->name) < 0);
		/* depth-first numbering: a child comes after its parent and earlier siblings */
		assert_true(n->children[i]->index > n->index);
		if (i)
			assert_true(n->children[i]->index > n->children[i - 1]->index);
	}
	for (size_t i = 0; i < n->nchildren; i++)
		mark(n->children[i], seen, nseen, count);
}

static void test_tree(void **state)
{
	struct config *c = parse_ok("export /d/in {\n id = 1\n pseudo = /imagenet\n}\n"
				    "export /d/c17 {\n id = 2\n pseudo = /coco/2017\n}\n"
				    "export /d/c14 {\n id = 3\n pseudo = /coco/2014\n}\n"
				    "export /d/deep {\n id = 4\n pseudo = /a/b/c\n}\n");
	const struct pseudo_node *root = config_pseudo_root(c), *coco, *n;
	bool seen[16] = {false};
	size_t count = 0;

	(void)state;
	assert_non_null(root);
	assert_string_equal(root->name, "");
	assert_string_equal(root->path, "/");
	assert_null(root->parent);
	assert_null(root->export);
	assert_int_equal(root->index, 0);

	/* root: a, coco, imagenet (sorted) */
	assert_int_equal(root->nchildren, 3);
	assert_string_equal(root->children[0]->name, "a");
	assert_string_equal(root->children[1]->name, "coco");
	assert_string_equal(root->children[2]->name, "imagenet");

	coco = pseudo_lookup(root, "coco");
	assert_ptr_equal(coco, root->children[1]);
	assert_null(coco->export); /* a pseudo directory */
	assert_string_equal(coco->path, "/coco");
	assert_int_equal(coco->nchildren, 2);
	assert_string_equal(coco->children[0]->name, "2014");
	assert_ptr_equal(coco->children[0]->export, config_export_by_id(c, 3));
	assert_ptr_equal(coco->children[1]->export, config_export_by_id(c, 2));
	assert_string_equal(coco->children[1]->path, "/coco/2017");
	assert_ptr_equal(coco->children[1]->parent, coco);

	n = pseudo_lookup(root, "imagenet");
	assert_non_null(n);
	assert_ptr_equal(n->export, &c->exports[0]);
	assert_int_equal(n->nchildren, 0);

	n = pseudo_lookup_path(root, "/a/b/c");
	assert_non_null(n);
	assert_ptr_equal(n->export, config_export_by_id(c, 4));
	assert_string_equal(n->parent->path, "/a/b");
	assert_null(n->parent->export);
	assert_ptr_equal(n->parent->parent->parent, root);

	/* component lookups miss cleanly */
	assert_null(pseudo_lookup(root, "imagene"));
	assert_null(pseudo_lookup(root, "imagenetx"));
	assert_null(pseudo_lookup(root, ""));
	assert_null(pseudo_lookup(root, "."));
	assert_null(pseudo_lookup(root, ".."));
	assert_null(pseudo_lookup(root, "coco/2017")); /* one component, not a path */
	assert_null(pseudo_lookup(coco, "2015"));

	/* path lookups */
	assert_ptr_equal(pseudo_lookup_path(root, "/"), root);
	assert_ptr_equal(pseudo_lookup_path(root, "//coco/"), coco);
	assert_null(pseudo_lookup_path(root, "coco"));
	assert_null(pseudo_lookup_path(root, "/coco/2017/train")); /* below an export */
	assert_null(pseudo_lookup_path(root, "/a/b/x"));

	/* 1 root + a, a/b, a/b/c + coco, 2014, 2017 + imagenet = 8 nodes, numbered 0..7 */
	mark(root, seen, 8, &count);
	assert_int_equal(count, 8);
	config_free(c);
}

/* Every leaf is an export and every export is a leaf. */
static void test_leaves_are_exports(void **state)
{
	struct config *c = parse_ok("export /x {\n id = 10\n pseudo = /p/q\n}\n"
				    "export /y {\n id = 11\n pseudo = /p/r/s\n}\n"
				    "export /z {\n id = 12\n}\n");
	const struct pseudo_node *root = config_pseudo_root(c);

	(void)state;
	for (size_t i = 0; i < c->nexports; i++) {
		const struct pseudo_node *n = pseudo_lookup_path(root, c->exports[i].pseudo);

		assert_non_null(n);
		assert_ptr_equal(n->export, &c->exports[i]);
		assert_int_equal(n->nchildren, 0);
		assert_string_equal(n->path, c->exports[i].pseudo);
	}
	assert_null(pseudo_lookup_path(root, "/p")->export);
	assert_null(pseudo_lookup_path(root, "/p/r")->export);
	config_free(c);
}

static void test_root_export(void **state)
{
	struct config *c = parse_ok("export /srv/data {\n id = 5\n pseudo = /\n}\n");
	const struct pseudo_node *root = config_pseudo_root(c);

	(void)state;
	assert_ptr_equal(root->export, &c->exports[0]);
	assert_int_equal(root->nchildren, 0);
	assert_int_equal(root->index, 0);
	assert_ptr_equal(pseudo_lookup_path(root, "/"), root);
	assert_null(pseudo_lookup_path(root, "/anything")); /* the export's, not the tree's */
	assert_null(pseudo_lookup(root, "anything"));
	assert_ptr_equal(config_export_by_pseudo(c, "/"), &c->exports[0]);
	config_free(c);
}

/* Names are compared as bytes (as READDIR will list them); UTF-8 names are fine. */
static void test_names(void **state)
{
	struct config *c = parse_ok("export /1 {\n id = 1\n pseudo = /b\n}\n"
				    "export /2 {\n id = 2\n pseudo = /B\n}\n"
				    "export /3 {\n id = 3\n pseudo = \"/donn\xc3\xa9" "es\"\n}\n"
				    "export /4 {\n id = 4\n pseudo = \"/with space\"\n}\n");
	const struct pseudo_node *root = config_pseudo_root(c);

	(void)state;
	assert_int_equal(root->nchildren, 4);
	assert_string_equal(root->children[0]->name, "B");
	assert_string_equal(root->children[1]->name, "b");
	assert_string_equal(root->children[2]->name, "donn\xc3\xa9" "es");
	assert_string_equal(root->children[3]->name, "with space");
	assert_ptr_equal(pseudo_lookup(root, "with space")->export, &c->exports[3]);
	config_free(c);
}

/* pseudo_build() checks on its own, for callers other than the parser. */
static void test_build_refusals(void **state)
{
	struct config_export e[2] = {
		{.id = 1, .pseudo = "/a"},
		{.id = 2, .pseudo = "/a/b"},
	};
	struct pseudo_node *root = (struct pseudo_node *)&root;
	char err[256];

	(void)state;
	assert_int_equal(pseudo_build(e, 2, &root, err, sizeof(err)), -EINVAL);
	assert_null(root);
	assert_string_equal(err, "export 2: pseudo path '/a/b' nests inside '/a' (export 1)");

	e[0].pseudo = "/a/b/c";
	assert_int_equal(pseudo_build(e, 2, &root, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "export 1: pseudo path '/a/b/c' nests inside '/a/b' (export 2)");

	e[0].pseudo = "/a/b/";
	assert_int_equal(pseudo_build(e, 2, &root, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "exports 1 and 2 share pseudo path '/a/b'");

	e[0].pseudo = "/";
	assert_int_equal(pseudo_build(e, 2, &root, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "export 2: pseudo path '/a/b' nests inside '/' (export 1)");

	e[0].pseudo = "a";
	assert_int_equal(pseudo_build(e, 2, &root, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "export 1: pseudo path 'a' is not absolute");

	/* and builds what is fine */
	e[0].pseudo = "/a/c";
	assert_int_equal(pseudo_build(e, 2, &root, err, sizeof(err)), 0);
	assert_int_equal(root->nchildren, 1);
	assert_int_equal(pseudo_lookup(root, "a")->nchildren, 2);
	pseudo_free(root);

	/* no exports: an empty root */
	assert_int_equal(pseudo_build(e, 0, &root, err, sizeof(err)), 0);
	assert_int_equal(root->nchildren, 0);
	assert_null(root->export);
	pseudo_free(root);
	pseudo_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_leaves_are_exports),
		cmocka_unit_test(test_root_export),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_build_refusals),
	};
	return cmocka_run_group_tests_name("conf_pseudo", tests, NULL, NULL);
}

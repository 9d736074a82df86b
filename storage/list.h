/*
 * Intrusive circular doubly linked list: one header for every list in sluice (the fd
 * cache's LRU, the page cache's protected and probation lists, the state tables' lists).
 * A list is a head link; an element embeds a link and is found again with container_of().
 * An unlinked element points at itself, so removing it twice is harmless.
 */
#ifndef SLUICE_LIST_H
#define SLUICE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_link {
	struct list_link *prev, *next;
};

#ifndef container_of
#define container_of(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))
#endif

static inline void list_init(struct list_link *l)
{
	l->prev = l->next = l;
}

static inline bool list_empty(const struct list_link *l)
{
	return l->next == l;
}

/* e goes right after head: the front of the list */
static inline void list_add(struct list_link *head, struct list_link *e)
{
	e->next = head->next;
	e->prev = head;
	head->next->prev = e;
	head->next = e;
}

/* e goes right before head: the back of the list */
static inline void list_add_tail(struct list_link *head, struct list_link *e)
{
	list_add(head->prev, e);
}

static inline void list_del(struct list_link *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	list_init(e);
}

#endif

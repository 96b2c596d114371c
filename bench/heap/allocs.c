/* Allocation-heavy workload for bench/heap/run.sh: 4,060,000 allocations (20 rounds of
 * 203,000), from a few call sites at a few stack depths, most freed soon after, like a
 * program building and dropping lists of small records. */
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char *name; size_t n; };

static char *make_name(size_t i)
{
    char *s = malloc(16 + i % 48);
    memset(s, 'a' + (int)(i % 26), 15);
    s[15] = 0;
    return s;
}

static struct node *push(struct node *head, size_t i)
{
    struct node *n = malloc(sizeof *n);
    n->next = head;
    n->n = i;
    n->name = (i % 2) ? make_name(i) : NULL;
    return n;
}

static size_t drop(struct node *head)
{
    size_t sum = 0;
    while (head) {
        struct node *next = head->next;
        sum += head->n + (head->name ? (size_t)head->name[0] : 0);
        free(head->name);
        free(head);
        head = next;
    }
    return sum;
}

static size_t round_of(size_t count)
{
    struct node *head = NULL;
    /* 2/3 of the allocations are nodes, 1/3 names: 135,334 nodes give ~203,000. */
    for (size_t i = 0; i < count; i++)
        head = push(head, i);
    return drop(head);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    size_t sum = 0;
    for (int r = 0; r < rounds; r++)
        sum += round_of(135334);
    return (int)(sum & 1) + 0 * (int)sum;
}

/*
 * request_fixture.h: reading the requests the receiver drivers build
 * (tocsin_receiver_request) in tests.  Pure; borrowed strings.
 */
#ifndef TOCSIN_REQUEST_FIXTURE_H
#define TOCSIN_REQUEST_FIXTURE_H

#include "tocsin/receiver.h"

/* The value of q's header `name` (any case), or NULL when q has none. */
const char *tocsin_test_header(const struct tocsin_request *q,
                               const char *name);

#endif

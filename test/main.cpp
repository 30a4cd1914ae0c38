#define BOOST_TEST_MODULE cleori
#include <boost/test/unit_test.hpp>

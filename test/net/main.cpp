#define BOOST_TEST_MODULE cleori_net
#include <boost/test/unit_test.hpp>

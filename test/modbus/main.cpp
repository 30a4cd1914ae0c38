#define BOOST_TEST_MODULE cleori_modbus
#include <boost/test/unit_test.hpp>

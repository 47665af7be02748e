/* berth-runtime's entry point: find (or start) the planner, then converse. */
#include "front.h"

int main(int argc, char **argv)
{
	front_run(planner_connect(), argc, argv);
}

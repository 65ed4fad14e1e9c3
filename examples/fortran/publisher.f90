! publisher: a numerical code publishing blocks of samples on a ringdrop
! broadcast ring, through the C ABI (module ringdrop_c, iso_c_binding).
!
!   publisher <ring-name> <blocks>
!
! The ring must exist (a subscriber creates it and attaches first: a
! broadcast subscriber only sees what is published after it joined).
! Each message is one sample_block: a sequence number, a sample count, a
! flag set on the last block, then `count` real(c_double) samples; only the
! used part is sent (16 + 8 * count bytes). The last block is a short one.
! The values are chosen so that the subscriber can recompute them bit for
! bit: multiples of 1/8, correctly rounded 1/(3+k) and sqrt(2), -0.0, the
! largest, smallest normal and smallest subnormal doubles, +-Inf and NaN.
!
! Exit status 0 when every block was sent; 8 when a ringdrop call failed
! (ringdrop_strerror text and detail on stderr); 2 on bad arguments.
!
! Build: gfortran ringdrop_c.f90 publisher.f90 -lringdrop -o publisher
program publisher
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_positive_inf, &
                                           ieee_negative_inf, ieee_quiet_nan
  use ringdrop_c
  implicit none

  integer, parameter :: max_samples = 64
  ! The message: C layout, mirrored by `struct SampleBlock` in
  ! fortran_subscriber.cpp (16-byte header, then the doubles).
  type, bind(C) :: sample_block
    integer(c_int64_t) :: sequence
    integer(c_int32_t) :: count
    integer(c_int32_t) :: last          ! 1 on the final block
    real(c_double) :: samples(max_samples)
  end type sample_block

  ! 5 s: how long a send waits for room (the ring blocks for its slowest
  ! subscriber); a live subscriber makes room long before.
  integer(c_long_long), parameter :: send_timeout_ns = 5000000000_c_long_long

  character(len=256) :: name, arg
  integer :: blocks, k, i, status
  integer(c_int) :: rc
  type(c_ptr) :: ring = c_null_ptr
  type(ringdrop_ring_options) :: options
  type(sample_block), target :: block
  integer(c_long_long) :: max_size, nbytes

  if (command_argument_count() /= 2) then
    write (error_unit, '(a)') 'usage: publisher <ring-name> <blocks>'
    stop 2
  end if
  call get_command_argument(1, name)
  call get_command_argument(2, arg)
  read (arg, *, iostat=status) blocks
  if (status /= 0 .or. blocks < 1) then
    write (error_unit, '(a)') 'publisher: <blocks> must be a positive number'
    stop 2
  end if

  ! The library's defaults, then what we change; the size it writes must be
  ! the size of our type, or the bind(C) layout disagrees with ringdrop.h.
  call ringdrop_ring_options_init(options)
  if (options%size /= c_sizeof(options)) then
    write (error_unit, '(a,i0,a,i0)') 'publisher: ringdrop_ring_options is ', &
      options%size, ' bytes in the library, ', c_sizeof(options)
    stop 8
  end if
  options%wait_mode = RINGDROP_WAIT_SPIN_BLOCK

  ! Names are C strings: trimmed, then a NUL.
  rc = ringdrop_ring_open(trim(name)//c_null_char, RINGDROP_RING_BROADCAST, &
                          RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, options, ring)
  call check(rc, 'ringdrop_ring_open')
  rc = ringdrop_ring_max_message_size(ring, max_size)
  call check(rc, 'ringdrop_ring_max_message_size')
  if (max_size < c_sizeof(block)) then
    write (error_unit, '(a,i0,a,i0)') 'publisher: the ring carries ', max_size, &
      ' bytes per message, a block needs ', c_sizeof(block)
    call ringdrop_ring_close(ring)
    stop 8
  end if

  do k = 0, blocks - 1
    block%sequence = k
    block%count = max_samples
    block%last = 0
    if (k == blocks - 1) then
      block%count = 10           ! a short last block
      block%last = 1
    end if
    block%samples = 0
    do i = 1, block%count
      block%samples(i) = sample(k, i)
    end do
    ! Only the used part: the header (16 bytes) and `count` doubles.
    nbytes = 16 + 8 * int(block%count, c_long_long)
    rc = ringdrop_ring_send(ring, c_loc(block), nbytes, send_timeout_ns)
    call check(rc, 'ringdrop_ring_send')
  end do

  ! Leaving: once they have read everything, subscribers see
  ! RINGDROP_EPEERGONE, their end-of-data.
  call ringdrop_ring_close(ring)
  write (output_unit, '(a,i0,a)') 'publisher: ', blocks, ' blocks published'

contains

  ! Sample i (1-based) of block k (0-based).
  function sample(k, i) result(x)
    integer, intent(in) :: k, i
    real(c_double) :: x
    select case (i)
    case (1)
      x = 1.0_c_double / real(3 + k, c_double)
    case (2)
      x = sign(0.0_c_double, -1.0_c_double)     ! -0.0
    case (3)
      x = huge(1.0_c_double)
    case (4)
      x = tiny(1.0_c_double)
    case (5)
      x = scale(1.0_c_double, -1074)             ! the smallest subnormal
    case (6)
      x = ieee_value(x, ieee_positive_inf)
    case (7)
      x = ieee_value(x, ieee_negative_inf)
    case (8)
      x = ieee_value(x, ieee_quiet_nan)
    case (9)
      x = sqrt(2.0_c_double + real(k, c_double))
    case default
      x = real(k * max_samples + i - 1, c_double) / 8.0_c_double - 100.0_c_double
    end select
  end function sample

  ! Stops with status 8, saying why, if rc is not RINGDROP_OK.
  subroutine check(rc, what)
    integer(c_int), intent(in) :: rc
    character(len=*), intent(in) :: what
    character(len=:), allocatable :: detail
    if (rc == RINGDROP_OK) return
    ! The detail first: it belongs to the last ringdrop call.
    detail = c_string(ringdrop_last_error_message())
    write (error_unit, '(a,a,i0,a,a)') what, ' failed, rc ', rc, ': ', &
      c_string(ringdrop_strerror(rc))
    if (len(detail) > 0) write (error_unit, '(a,a)') '  ', detail
    call ringdrop_ring_close(ring)   ! NULL (never opened) is a no-op
    stop 8
  end subroutine check

end program publisher
